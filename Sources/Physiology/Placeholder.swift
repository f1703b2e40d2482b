// placeholder: replaced by the physiology simulator
