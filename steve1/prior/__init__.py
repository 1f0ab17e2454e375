"""The CVAE prior that turns a MineCLIP text embedding into a MineCLIP visual goal embedding."""
