"""MineCLIP (attn variant): image ViT, temporal pooling, text tower, offline tokenizer, cached embedding."""
