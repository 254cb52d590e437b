"""ketaclinic.web"""
