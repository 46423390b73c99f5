print("ktsx")
