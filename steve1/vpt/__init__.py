"""The VPT policy (ImpalaCNN + recurrent transformer + heads), STEVE-1's goal layer, action space, loading."""
