"""Feature extraction (Kaldi-compatible fbank/MFCC, the design's log-mel), ark/scp I/O, CMVN."""
