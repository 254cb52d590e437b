"""ketaclinic.services"""
