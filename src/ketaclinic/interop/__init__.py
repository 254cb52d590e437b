"""ketaclinic.interop"""
