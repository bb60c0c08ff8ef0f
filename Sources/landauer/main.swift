print("landauer")
