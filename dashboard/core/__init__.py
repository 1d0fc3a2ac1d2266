"""dashboard/core"""
