"""bplight: simulator of the BPLight-CNN photonic training accelerator."""
