"""The model zoo: embedding, blocks, final norm, LM head and loss, as pipeline-ready layers and as
one plain module for plans without pipelining. GPT vs Llama is only ModelSpec flags (blocks.py)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mist_ds.config import ModelSpec
from mist_ds.runtime.blocks import Norm, TransformerBlock
from mist_ds.runtime.fused_head_loss import fused_head_loss
from mist_ds.runtime.host_saves import save_on_host
from mist_ds.runtime.kernels import DEFAULT_KERNELS, Kernels
from mist_ds.runtime.loss import LOSS_IMPLS, cross_entropy
from mist_ds.runtime.tp import (INIT_STD, ParallelLinear, VocabParallelEmbedding, copy_to_tp, seeded_normal,
                                tp_rank, tp_size)


@dataclass(frozen=True)
class BuildOptions:
    """What every layer constructor needs besides the spec."""

    tp_group: object = None
    dtype: torch.dtype = torch.float32
    device: object = None
    seed: int = 1234
    kernels: Kernels = DEFAULT_KERNELS   # norm / SwiGLU / RoPE / attention kernels (runtime/kernels.py)
    loss: str = "auto"                   # cross-entropy implementation (runtime/loss.py LOSS_IMPLS)

    def __post_init__(self) -> None:
        if self.loss not in LOSS_IMPLS:
            raise ValueError(f"loss must be one of {LOSS_IMPLS}, not {self.loss!r}")

    def block_kwargs(self) -> dict:
        """Keyword arguments of TransformerBlock besides spec, layer_index, recompute."""
        return dict(seed=self.seed, device=self.device, kernels=self.kernels)


class Embedding(nn.Module):
    """Vocab-parallel token embedding (+ learned positions on the first stage); also the tied head."""

    def __init__(self, spec: ModelSpec, opts: BuildOptions, with_positions: bool = True):
        super().__init__()
        padded = spec.padded_vocab_size(tp_size(opts.tp_group))
        self.tok = VocabParallelEmbedding(padded, spec.hidden_size, key="embed.tok", seed=opts.seed,
                                          group=opts.tp_group, device=opts.device, dtype=opts.dtype)
        self.pos = None
        if with_positions and spec.position_embedding == "learned":
            self.pos = nn.Parameter(seeded_normal((spec.max_seq_len, spec.hidden_size), "embed.pos",
                                                  opts.seed, INIT_STD, shard_dim=None, group=None,
                                                  device=opts.device, dtype=opts.dtype))
        self.passes_hidden = False  # as the head: hand the hidden states to a fused loss (fuse_head_and_loss)

    def forward(self, tokens: torch.Tensor, as_head: bool = False) -> torch.Tensor:
        if as_head:  # a module call (not a method), so ZeRO-3 gathers the weight for the head too
            return tokens if self.passes_hidden else self.tok.logits(tokens)
        hidden = self.tok(tokens)
        if self.pos is not None:
            hidden = hidden + self.pos[: tokens.shape[1]]
        return hidden


def tied_head_forward(embedding: Embedding, hidden: torch.Tensor) -> torch.Tensor:
    """forward_fn of the LM-head TiedLayerSpec: logits with the embedding matrix."""
    return embedding(hidden, as_head=True)


class LMHead(nn.Module):
    """Untied output projection, vocab-parallel (column-parallel over the padded vocabulary)."""

    def __init__(self, spec: ModelSpec, opts: BuildOptions):
        super().__init__()
        padded = spec.padded_vocab_size(tp_size(opts.tp_group))
        self.proj = ParallelLinear(spec.hidden_size, padded, mode="column", bias=False, key="lm_head",
                                   seed=opts.seed, group=opts.tp_group, device=opts.device,
                                   dtype=opts.dtype)
        self.passes_hidden = False  # hand the hidden states to a fused loss (fuse_head_and_loss)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden if self.passes_hidden else self.proj(hidden)


class VocabParallelLoss:
    """Mean cross-entropy of this rank's vocabulary slice of the logits (the pipeline's loss_fn);
    `impl` names the implementation (runtime/loss.py; 'auto': the measured pick, none of which holds
    fp32 logits)."""

    def __init__(self, spec: ModelSpec, tp_group=None, impl: str = "auto"):
        self.group, self.impl, self.end = tp_group, impl, spec.vocab_size
        self.start = tp_rank(tp_group) * spec.padded_vocab_size(tp_size(tp_group)) // tp_size(tp_group)
        self.head_weight = None  # set by fuse_head_and_loss: the loss then gets hidden states, not logits
        self.grad_scale = 1.0    # ... and the gradient it will receive (runtime/fused_head_loss.py)

    def __call__(self, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The loss over the real vocabulary: the padded columns stay out of the softmax (runtime/loss.py);
        with a fused head, of the head's input `outputs` (runtime/fused_head_loss.py)."""
        if self.head_weight is not None:
            return fused_head_loss(copy_to_tp(outputs, self.group), self.head_weight, labels,
                                   grad_scale=self.grad_scale, group=self.group, vocab_start=self.start,
                                   vocab_end=self.end, impl=self.impl)
        return cross_entropy(outputs, labels, self.group, self.start, self.impl, vocab_end=self.end)


def fuse_head_and_loss(module: nn.Module, grad_scale: float) -> None:
    """On a pipeline's last stage, make the LM head (an untied LMHead, else the tied Embedding) pass its
    hidden states to the pipeline's loss_fn (a VocabParallelLoss), which then computes head and cross-entropy
    in one chunked pass without the logit matrix, expecting the gradient `grad_scale` (runtime/fused_head_loss.py;
    the mistpipe engine's `fused_head_loss` option)."""
    heads = [m for m in module.modules() if isinstance(m, LMHead)]
    head = heads[0] if heads else [m for m in module.modules() if isinstance(m, Embedding)][-1]
    head.passes_hidden = True
    module.loss_fn.head_weight = head.proj.weight if heads else head.tok.weight
    module.loss_fn.grad_scale = grad_scale


class OffloadedBlock(TransformerBlock):
    """A block whose saved activations live in pinned host memory (runtime/host_saves.py save_on_host:
    torch 2.13's save_on_cpu(pin_memory=True) on every torch version).

    Each tensor autograd saves is copied to the host in forward and back in backward on the compute
    stream: serial with the block's kernels on the GPU, but the host is not blocked (the pack's copy
    is non_blocking), so it keeps running ahead as in any other block (cost/act_offload.py prices
    this as 'non_blocking').
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with save_on_host():
            return super().forward(x)


def block_roles(start: int, end: int, num_recompute: int, num_offloaded: int) -> dict[int, str]:
    """Per layer of a stage: 'recompute' (the first num_recompute), 'offload' (the next num_offloaded),
    or 'keep' (saved on the GPU) — StagePlan's num_recompute_layers / num_offloaded_layers."""
    roles = {}
    for index in range(start, end):
        local = index - start
        roles[index] = ("recompute" if local < num_recompute
                        else "offload" if local < num_recompute + num_offloaded else "keep")
    return roles


def block_class(role: str) -> type[TransformerBlock]:
    """The block class of a role."""
    return OffloadedBlock if role == "offload" else TransformerBlock


def make_block(spec: ModelSpec, opts: BuildOptions, index: int, role: str) -> TransformerBlock:
    """Build layer `index` with its recompute/offload role."""
    return block_class(role)(spec, opts.tp_group, opts.dtype, layer_index=index,
                             recompute=role == "recompute", **opts.block_kwargs())


class MistModel(nn.Module):
    """The whole model on one rank (plans without pipelining): forward(tokens, labels) -> loss."""

    def __init__(self, spec: ModelSpec, opts: BuildOptions, roles: dict[int, str]):
        super().__init__()
        self.embed = Embedding(spec, opts)
        self.blocks = nn.ModuleList(make_block(spec, opts, i, roles[i]) for i in range(spec.num_layers))
        self.norm = Norm(spec, device=opts.device, dtype=opts.dtype, impl=opts.kernels.norm)
        self.head = None if spec.tie_embeddings else LMHead(spec, opts)
        self.loss_fn = VocabParallelLoss(spec, opts.tp_group, opts.loss)

    def forward(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        hidden = self.embed(tokens)
        for block in self.blocks:
            hidden = block(hidden)
        hidden = self.norm(hidden)
        logits = tied_head_forward(self.embed, hidden) if self.head is None else self.head(hidden)
        return self.loss_fn(logits, labels)
