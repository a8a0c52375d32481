import os

# Tests run on TensorFlow unless told otherwise; JAX checks run in a subprocess.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
