print("cgmbench")
