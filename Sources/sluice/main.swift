import SluiceCommands

SluiceCommand.start()
