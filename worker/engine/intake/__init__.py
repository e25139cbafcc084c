"""Intake: a transfer handed over is read once (request), recorded once (registration), by one
unit of work whichever way it came (service), and answered so the wallet knows (replies)."""
