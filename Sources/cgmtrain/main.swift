print("cgmtrain")
