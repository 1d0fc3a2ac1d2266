"""dashboard/web"""
