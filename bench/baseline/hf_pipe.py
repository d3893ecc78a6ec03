"""Parity mode of the baseline: a Hugging Face Llama as a plain DeepSpeed `PipelineModule`.

What a DeepSpeed user writes to pipeline an HF model (the DeepSpeedExamples / Megatron-DeepSpeed
pattern): the token embedding, every `LlamaDecoderLayer` (with the model's rotary embedding computed
in the layer, since only the hidden states travel between stages), and the final norm + LM head as
LayerSpecs; `partition_method="type:LlamaLayerPipe"` balances the decoder layers over the stages (an
even split, as the mist_ds plan it is compared with); the loss is HF's: cross-entropy of the logits
upcast to fp32. Recompute is DeepSpeed's own (`activation_checkpoint_interval=1`, its default
checkpoint function). Each rank builds only its stage's layers, on its GPU, in the training dtype.
Shares no code with mist_ds/runtime. Llama-family presets only (GPT2's tied head would need a
TiedLayerSpec; no parity case uses it).
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from bench.baseline.hf_model import hf_config
from mist_ds.config import ModelSpec


@contextlib.contextmanager
def building(device, dtype):
    """Parameters created inside are born on `device` in `dtype` (HF layers take the defaults)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(previous)


@torch.no_grad()
def hf_init(module: nn.Module, std: float) -> nn.Module:
    """HF's LlamaPreTrainedModel._init_weights: N(0, initializer_range) weights, zero biases, norms 1."""
    for sub in module.modules():
        if isinstance(sub, (nn.Linear, nn.Embedding)):
            sub.weight.normal_(0.0, std)
            if getattr(sub, "bias", None) is not None:
                sub.bias.zero_()
    return module


class EmbeddingPipe(nn.Module):
    def __init__(self, config, device, dtype):
        super().__init__()
        with building(device, dtype):
            self.embed_tokens = hf_init(nn.Embedding(config.vocab_size, config.hidden_size),
                                        config.initializer_range)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.embed_tokens(tokens)


class LlamaLayerPipe(nn.Module):
    """One LlamaDecoderLayer; cos/sin from the model's LlamaRotaryEmbedding, causal SDPA (no mask)."""

    def __init__(self, config, index: int, device, dtype):
        super().__init__()
        from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

        with building(device, dtype):
            self.layer = hf_init(LlamaDecoderLayer(config, index), config.initializer_range)
            self.rotary = LlamaRotaryEmbedding(config=config)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(hidden.shape[1], device=hidden.device).unsqueeze(0)
        cos_sin = self.rotary(hidden, positions)
        out = self.layer(hidden, attention_mask=None, position_embeddings=cos_sin)
        return out[0] if isinstance(out, tuple) else out


class HeadPipe(nn.Module):
    def __init__(self, config, device, dtype):
        super().__init__()
        from transformers.models.llama.modeling_llama import LlamaRMSNorm

        with building(device, dtype):
            self.norm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
            self.lm_head = hf_init(nn.Linear(config.hidden_size, config.vocab_size, bias=False),
                                   config.initializer_range)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.norm(hidden))


def hf_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """HF's causal-LM loss (transformers loss_utils.ForCausalLMLoss): logits upcast to fp32, labels
    shifted one token left (the last position ignored), mean over tokens."""
    shifted = F.pad(labels[:, 1:], (0, 1), value=-100)
    return F.cross_entropy(logits.float().flatten(0, 1), shifted.flatten(), ignore_index=-100)


def build_pipeline(spec: ModelSpec, num_stages: int, device, dtype, checkpointing: bool):
    """The PipelineModule of `spec` over `num_stages` stages (ValueError for a non-Llama spec)."""
    from deepspeed.pipe import LayerSpec, PipelineModule

    if spec.family != "llama" or spec.tie_embeddings:
        raise ValueError(f"{spec.name}: the pipeline baseline covers untied Llama models only")
    config = hf_config(spec)
    layers = [LayerSpec(EmbeddingPipe, config, device, dtype),
              *(LayerSpec(LlamaLayerPipe, config, i, device, dtype) for i in range(spec.num_layers)),
              LayerSpec(HeadPipe, config, device, dtype)]
    return PipelineModule(layers=layers, num_stages=num_stages, loss_fn=hf_loss,
                          partition_method="type:LlamaLayerPipe",
                          activation_checkpoint_interval=1 if checkpointing else 0)
