"""ketaclinic.analytics"""
