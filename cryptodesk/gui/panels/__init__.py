"""The dockable panels of the main window: data, training, results."""
