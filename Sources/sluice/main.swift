import SluiceCommands

await SluiceCommand.start()
