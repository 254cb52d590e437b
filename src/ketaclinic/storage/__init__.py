"""ketaclinic.storage"""
