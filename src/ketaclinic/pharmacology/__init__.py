"""ketaclinic.pharmacology"""
