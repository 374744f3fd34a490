"""Transfer learning: LoRA adapters for any torch model (:mod:`.lora`) and fine-tuning of the packaged
MiniLM sentence encoder on a user's pairs (:mod:`.embed`). Fine-tuning a genforge generator run is the
run-level job ``pipelines/finetune.py``, which uses :mod:`.lora`."""
