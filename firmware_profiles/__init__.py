"""firmware_profiles"""
