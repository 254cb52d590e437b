"""ketaclinic.synthetic"""
