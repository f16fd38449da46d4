"""MLServer custom runtimes for the pipeline tests: small models with exactly known answers."""
import asyncio

import numpy as np
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse


class BadRequest(MLServerError):
    """A request the model cannot answer: MLServer answers 400 with the message (a plain exception gives 500)."""


def _input(request: InferenceRequest, name: str) -> np.ndarray:
    for tensor in request.inputs:
        if tensor.name == name:
            return NumpyCodec.decode_input(tensor)
    raise BadRequest(f"input {name} is missing; the request has {[t.name for t in request.inputs]}")


def _output(name: str, array: np.ndarray):
    tensor = NumpyCodec.encode_output(name=name, payload=array)
    tensor.shape = list(array.shape)  # the codec would make a 1-D array [n, 1]; keep the shape asked for
    return tensor


def _response(model: MLModel, request: InferenceRequest, outputs: dict) -> InferenceResponse:
    return InferenceResponse(
        model_name=model.name,
        id=request.id,
        outputs=[_output(name, array) for name, array in outputs.items()],
    )


class AddSubtract(MLModel):
    """INPUT0, INPUT1 (INT32 [1,16]) -> OUTPUT0 = sum, OUTPUT1 = difference."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        a, b = _input(payload, "INPUT0"), _input(payload, "INPUT1")
        if a.dtype != np.int32 or b.dtype != np.int32:
            raise BadRequest(f"INPUT0 and INPUT1 must be INT32, got {a.dtype} and {b.dtype}")
        return _response(self, payload, {"OUTPUT0": a + b, "OUTPUT1": a - b})


class AddTen(MLModel):
    """INPUT (FP32 [4]) -> OUTPUT = INPUT + 10."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        return _response(self, payload, {"OUTPUT": (_input(payload, "INPUT") + 10).astype(np.float32)})


class MultiplyByTen(MLModel):
    """INPUT (FP32 [4]) -> OUTPUT = INPUT * 10."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        return _response(self, payload, {"OUTPUT": (_input(payload, "INPUT") * 10).astype(np.float32)})


class Router(MLModel):
    """CHOICE (INT32 [1]), INPUT -> INPUT as OUTPUT0 when CHOICE is 0, as OUTPUT1 otherwise (never both)."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        choice = int(_input(payload, "CHOICE").flatten()[0])
        return _response(self, payload, {"OUTPUT0" if choice == 0 else "OUTPUT1": _input(payload, "INPUT")})


class Identity(MLModel):
    """Every input back as an output of the same name."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        return _response(self, payload, {tensor.name: NumpyCodec.decode_input(tensor) for tensor in payload.inputs})


class SumInt64(MLModel):
    """INPUT0, INPUT1 (INT64) -> OUTPUT = INPUT0 + INPUT1."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        total = (_input(payload, "INPUT0") + _input(payload, "INPUT1")).astype(np.int64)
        return _response(self, payload, {"OUTPUT": total})


class SlowUnload(MLModel):
    """INPUT (FP32 [4]) -> OUTPUT = INPUT + 10, taking 3 s to unload: a model whose unloading can be watched."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        return _response(self, payload, {"OUTPUT": (_input(payload, "INPUT") + 10).astype(np.float32)})

    async def unload(self) -> bool:
        await asyncio.sleep(3)
        return True
