"""dashboard/identity"""
