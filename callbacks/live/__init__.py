"""callbacks/live"""
