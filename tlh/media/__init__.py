"""aiortc media side: echo peer, relay, headless participants (issue: media)."""
