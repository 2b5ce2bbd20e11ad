"""Small models written the way popular libraries write them, traced and scripted, with parity:
a MobileNetV2-style net (inverted residuals, depthwise convs, ReLU6), a BERT-style encoder
(token ids and an attention mask as inputs) and a ViT-style classifier (patch embedding, class
token, position embedding)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.harness import OpCase, assert_parity


# ---- MobileNetV2 -----------------------------------------------------------------------------
class _ConvBNReLU6(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_residual = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_ConvBNReLU6(cin, hidden, kernel=1))
        layers += [
            _ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),  # depthwise
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_residual:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2Style(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _ConvBNReLU6(3, 16, stride=2),
            InvertedResidual(16, 8, 1, 1),
            InvertedResidual(8, 12, 2, 6),
            InvertedResidual(12, 12, 1, 6),
            _ConvBNReLU6(12, 32, kernel=1),
        )
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(32, classes))
        for m in self.modules():  # non-trivial running statistics
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        x = torch.flatten(x, 1)
        return self.classifier(x)


# ---- BERT ------------------------------------------------------------------------------------
VOCAB, HIDDEN, HEADS, LENGTH = 50, 32, 4, 7


class BertStyle(nn.Module):
    """Token, position and segment embeddings, a two-layer encoder that skips padding, a pooler."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, HIDDEN, padding_idx=0)
        self.positions = nn.Embedding(16, HIDDEN)
        self.segments = nn.Embedding(2, HIDDEN)
        self.norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        layer = nn.TransformerEncoderLayer(
            HIDDEN, HEADS, 64, dropout=0.1, activation="gelu", batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.pooler = nn.Linear(HIDDEN, HIDDEN)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        length = input_ids.size(1)
        positions = torch.arange(length, device=input_ids.device).unsqueeze(0)
        segments = torch.zeros_like(input_ids)
        h = self.tokens(input_ids) + self.positions(positions) + self.segments(segments)
        h = self.norm(h)
        h = self.encoder(h, src_key_padding_mask=attention_mask == 0)
        pooled = torch.tanh(self.pooler(h[:, 0]))
        return h, pooled


def _tokens() -> tuple[torch.Tensor, ...]:
    ids = torch.randint(1, VOCAB, (2, LENGTH))
    mask = torch.ones(2, LENGTH, dtype=torch.long)
    mask[1, 4:] = 0
    ids[1, 4:] = 0
    return ids, mask


# ---- ViT -------------------------------------------------------------------------------------
class ViTStyle(nn.Module):
    def __init__(self, size: int = 16, patch: int = 4, dim: int = 32, classes: int = 5) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        count = (size // patch) ** 2
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, count + 1, dim) * 0.02)
        self.block = nn.TransformerEncoderLayer(
            dim, 4, 64, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x).flatten(2).transpose(1, 2)  # [B, N, D]
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1) + self.pos_embed
        x = self.norm(self.block(x))
        return self.head(x[:, 0])


def _image(size: int) -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, size, size),)


CASES = [
    OpCase("mobilenetv2_traced", MobileNetV2Style, lambda: _image(32)),
    OpCase("mobilenetv2_scripted", MobileNetV2Style, lambda: _image(32), mode="script"),
    OpCase("bert_traced", BertStyle, _tokens),
    OpCase("bert_scripted", BertStyle, _tokens, mode="script"),
    OpCase("vit_traced", ViTStyle, lambda: _image(16)),
    OpCase("vit_scripted", ViTStyle, lambda: _image(16), mode="script"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)
