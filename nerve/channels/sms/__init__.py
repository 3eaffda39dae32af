"""SMS through a Twilio-compatible provider: segments counted, E.164 numbers, STOP replies."""
