"""Audio front ends: layers that turn waveforms into the time-frequency inputs of audio encoders."""
