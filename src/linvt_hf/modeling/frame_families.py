"""What the frame-based families (InternVL, LLaVA-OneVision) share: frames in chunks, video tokens via `inputs_embeds`.

Their processors give videos as plain frames (`pixel_values_videos` `[total_steps, 3, H, W]`, the videos one after
the other, as many frames each as `video_frame_mask` marks), and their base models take no ready-made video tokens
next to raw images (InternVL has no video input; LLaVA-OneVision takes `mm_encoder_outputs`, but then no
`pixel_values`). So the video tokens go in through `inputs_embeds` and the image-LLM is called with those embeddings
and everything else unchanged. It then places images itself, finding its image placeholders by comparing embeddings
with its image token's embedding; `check_image_placeholders` makes sure this finds exactly the positions `input_ids`
holds, so images are processed as the image-LLM processes them, bit for bit.
"""

from __future__ import annotations

from typing import Any

import torch


class LinVTFrameVideoPath:
    r"""
    LinVT's hooks for a family whose processor gives videos as frames; the family implements `encode_frames` (frames
    -> per-frame tokens through the image-LLM's own vision path) and `frame_grid`.
    """

    def encode_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Per-frame tokens of a run of frames: `[F, 3, H, W]` -> `[F, N, D]` (one vision call: the caller chunks)."""
        raise NotImplementedError

    def frame_grid(self, height: int, width: int) -> tuple[int, int]:
        """`(rows, cols)` of the `N` tokens `encode_frames` gives a `height` x `width` frame (row-major)."""
        raise NotImplementedError

    def frame_features(
        self, pixel_values_videos: torch.Tensor, video_grid_thw: torch.Tensor | None, frames_per_video: list[int]
    ) -> list[torch.Tensor]:
        """Per-frame tokens of each video, `[T_v, N, D]`; at most `config.vision_chunk_size` frames per vision call
        (frames are independent images, so chunks may span videos)."""
        if sum(frames_per_video) != pixel_values_videos.shape[0]:
            raise ValueError(
                f"video_frame_mask marks {sum(frames_per_video)} frames but pixel_values_videos holds "
                f"{pixel_values_videos.shape[0]}"
            )
        chunks = [self.encode_frames(piece) for piece in pixel_values_videos.split(self.config.vision_chunk_size)]
        return list(torch.cat(chunks, dim=0).split(frames_per_video))

    def frame_token_grids(
        self, pixel_values_videos: torch.Tensor, video_grid_thw: torch.Tensor | None, num_videos: int
    ) -> list[tuple[int, int]]:
        return [self.frame_grid(*pixel_values_videos.shape[-2:])] * num_videos

    def forward_with_video_embeds(self, input_ids: torch.LongTensor, inputs_embeds: torch.Tensor, **kwargs: Any) -> Any:
        kwargs.pop("video_grid_thw", None)
        if kwargs.get("pixel_values") is not None:
            self.check_image_placeholders(input_ids, inputs_embeds)
        return self.image_llm_forward(inputs_embeds=inputs_embeds, **kwargs)

    def check_image_placeholders(self, input_ids: torch.LongTensor, inputs_embeds: torch.Tensor) -> None:
        """Raise unless the positions whose embedding equals the image token's (how the image-LLM finds its image
        placeholders without `input_ids`) are exactly the image token positions of `input_ids`."""
        image_token_id = self.config.image_token_id
        image_embed = self.get_input_embeddings()(torch.tensor(image_token_id, device=inputs_embeds.device))
        found = (inputs_embeds == image_embed).all(-1)
        if not torch.equal(found, (input_ids == image_token_id).to(found.device)):
            raise ValueError(
                f"{int(found.sum())} positions have the image token's embedding but the prompts hold "
                f"{int((input_ids == image_token_id).sum())} image tokens (id {image_token_id}): another token shares "
                "its embedding, so the image-LLM could not place the images of this batch; pass images and videos "
                "in separate calls"
            )


__all__ = ["LinVTFrameVideoPath"]
