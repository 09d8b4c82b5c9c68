"""Transform classes: thin wrappers around `dermnet.transforms.functional`.

A transform draws no pixels itself: its ``__init__`` only stores each argument under the
argument's own name, and it calls a pure function (its ``function``). The parameters are
declared once: their checks are the function's (`dermnet.transforms._constraints`), run
when the transform is constructed, and ``get_config`` / ``to_dict`` read the constructor
signature (as scikit-learn's ``BaseEstimator.get_params`` does). Every transform
serializes to a dict that records the dermnet version, and back (``to_dict`` /
``transform_from_dict``).

The registry `TRANSFORMS` names the modules that define the built-in transforms
(`dermnet.transforms.preprocessing`) and imports them on its first lookup, the one way
dermnet registries fill themselves (`dermnet._core.registry.Registry`): this module never
imports the modules that define transforms, so the imports point one way.

The same transform runs on one ``HxWxC`` image, on a NumPy batch ``NxHxWxC``, with a lesion
mask that geometric transforms move along with the image (``t(image, mask=mask)``), inside
``tf.data`` (`dermnet.transforms.tf_map`) and over a folder
(`dermnet.transforms.preprocess_folder`).
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, overload

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.registry import Registry
from dermnet.transforms._constraints import check_params
from dermnet.transforms.functional import check_image

__all__ = [
    "TRANSFORMS",
    "Compose",
    "Transform",
    "list_transforms",
    "register_transform",
    "transform_from_dict",
]

#: The transform registry: name -> Transform subclass.
TRANSFORMS: Registry[type[Transform]] = Registry(
    "transform", builtins=("dermnet.transforms.preprocessing",)
)

#: A shape ``(height, width, channels)`` where unknown sizes are ``None``.
Shape = tuple[int | None, int | None, int | None]


def register_transform(name: str) -> Callable[[type[Transform]], type[Transform]]:
    """Class decorator registering a `Transform` subclass under ``name``.

    Registered transforms can be rebuilt from dicts by name and are covered by the
    shared test suite (``tests/transforms/test_suite.py``), which fails for a registered
    transform it has no entry for.
    """

    def wrap(cls: type[Transform]) -> type[Transform]:
        cls.name = name
        return TRANSFORMS.register(name, cls)

    return wrap


def list_transforms(pattern: str | None = None) -> list[str]:
    """Names of the registered transforms, optionally filtered by a shell-style pattern.

    Examples:
        >>> list_transforms("*blur")
        ['gaussian_blur', 'median_blur']
    """
    return TRANSFORMS.names(pattern)


class Transform:
    """Base class of dermnet's preprocessing transforms.

    A subclass names the pure function it wraps (``function = staticmethod(F.some_op)``) and
    its ``__init__`` stores every argument under the argument's own name
    (``self._store(locals())``), nothing more. When ``__init__`` returns, the arguments are
    checked against the constraints the function declares (messages name the class) and
    stored converted; `get_config` returns them, read from the ``__init__`` signature, so a
    config cannot drift from the constructor. `apply` calls the function with them; a
    subclass overrides it (or `apply_with_mask`) where it does more.

    Calling a transform validates the image (errors name the transform), and applies it
    to one image or image by image to a ``NxHxWxC`` batch. With ``mask=`` it returns
    ``(image, mask)``: geometric transforms move the mask with the image, the others
    return it unchanged.

    Class attributes describe the contract: ``input_channels`` (the channel counts the
    transform accepts), ``geometric`` (it moves pixels, so masks follow) and
    `output_shape`.
    """

    name: ClassVar[str] = "transform"
    #: Channel counts accepted; 1 also admits ``HxW`` gray images.
    input_channels: ClassVar[tuple[int, ...]] = (3,)
    #: True when the transform moves pixels (resize, crop): masks are moved along.
    geometric: ClassVar[bool] = False
    #: The function of `dermnet.transforms.functional` that `apply` calls with the
    #: parameters, and whose declared constraints check them (None: no function).
    function: ClassVar[Callable[..., Any] | None] = None
    #: The constructor's parameter names, read once per class from its signature.
    _param_names: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._param_names = cls._get_param_names()  # *args or **kwargs fail here
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def checked_init(self: Transform, *args: Any, **kw: Any) -> None:
            init(self, *args, **kw)
            if type(self).__init__ is checked_init:  # the outermost __init__ checks
                self._check_params()

        cls.__init__ = checked_init  # type: ignore[method-assign]

    @classmethod
    def _get_param_names(cls) -> tuple[str, ...]:
        """The constructor's parameter names, in order (scikit-learn's rule)."""
        if cls.__init__ is object.__init__:
            return ()
        names = []
        for param in list(inspect.signature(cls.__init__).parameters.values())[1:]:
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise ParameterError(
                    f"{cls.__name__}.__init__ must name each of its parameters (its config "
                    f"is read from the signature); it takes {param}."
                )
            names.append(param.name)
        return tuple(names)

    def _store(self, arguments: dict[str, Any]) -> None:
        """Store the constructor's arguments under their own names.

        A subclass's ``__init__`` calls ``self._store(locals())``: each of its parameters
        (read from the signature) becomes the attribute of the same name.
        """
        for name in self._param_names:
            if name in arguments:
                setattr(self, name, arguments[name])

    def _params(self) -> dict[str, Any]:
        """The stored constructor arguments, by name."""
        missing = [n for n in self._param_names if not hasattr(self, n)]
        if missing:
            raise ParameterError(
                f"{type(self).__name__}.__init__ takes {missing[0]!r} but does not store it "
                f"as self.{missing[0]}: a Transform keeps every constructor argument under "
                "its own name (get_config, to_dict and equality are read from them)."
            )
        return {n: getattr(self, n) for n in self._param_names}

    def _check_params(self) -> None:
        """Check the stored arguments against `function`'s constraints; store them converted."""
        if type(self).get_config is not Transform.get_config:
            return  # a subclass with its own config (written before configs were derived)
        params = self._params()
        function = type(self).function
        if function is not None:
            for key, value in check_params(function, params, type(self).__name__).items():
                setattr(self, key, value)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Transform one validated image: `function` called with the parameters."""
        function = type(self).function
        if function is None:
            raise NotImplementedError(f"{type(self).__name__} has no function to apply")
        return function(image, **self._params())  # type: ignore[no-any-return]

    def apply_with_mask(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Transform one image and its ``HxW`` mask; the base class leaves the mask as is."""
        return self.apply(image), mask

    def output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        """The output ``(height, width, channels)`` for an input shape (None: unknown).

        Used by `dermnet.transforms.tf_map` to give ``tf.data`` static shapes.
        The base class keeps the shape.
        """
        h, w, c = _hwc(input_shape)
        return h, w, c

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, by name, JSON-serializable (tuples become lists,
        transforms their `to_dict`)."""
        return {key: _jsonable(value) for key, value in self._params().items()}

    @overload
    def __call__(self, image: np.ndarray, mask: None = None) -> np.ndarray: ...

    @overload
    def __call__(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def __call__(
        self, image: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Apply to one ``HxWxC`` image or a ``NxHxWxC`` batch (and its masks)."""
        where = type(self).__name__
        image = check_image(image, where, channels=self.input_channels, batch=True)
        batched = image.ndim == 4
        if mask is None:
            if batched:
                return np.stack([self.apply(img) for img in image])
            return self.apply(image)
        mask = _check_masks(mask, image, where)
        if batched:
            pairs = [self.apply_with_mask(img, m) for img, m in zip(image, mask, strict=True)]
            return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
        return self.apply_with_mask(image, mask)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"name", "config", "dermnet_version"}``."""
        from dermnet._version import __version__

        return {"name": self.name, "config": self.get_config(), "dermnet_version": __version__}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Transform:
        """Rebuild from `get_config` output; unknown keys are an error."""
        try:
            return cls(**config)
        except TypeError as exc:
            raise ParameterError(
                f"The config of {cls.__name__} has keys it does not accept "
                f"({sorted(config)}): {exc}"
            ) from None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.get_config())))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Transform):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _hwc(shape: Sequence[int | None]) -> Shape:
    shape = tuple(shape)
    if len(shape) == 2:
        return shape[0], shape[1], 1
    if len(shape) != 3:
        raise ParameterError(
            "The 'input_shape' parameter of Transform.output_shape must be (height, width) "
            f"or (height, width, channels). Got {shape!r} instead."
        )
    return shape[0], shape[1], shape[2]


def _check_masks(mask: object, image: np.ndarray, where: str) -> np.ndarray:
    """Check that ``mask`` is an ``HxW`` (or ``NxHxW``) array matching the image."""
    if not isinstance(mask, np.ndarray):
        raise ParameterError(
            f"The 'mask' parameter of {where} must be a NumPy array. "
            f"Got {type(mask).__name__} instead."
        )
    if mask.ndim == image.ndim and mask.shape[-1] == 1:
        mask = mask[..., 0]
    expected = image.shape[:-1] if image.ndim >= 3 else image.shape
    if mask.shape != expected:
        raise ParameterError(
            f"The 'mask' parameter of {where} must have shape {expected} (the image's "
            f"size without channels). Got shape {mask.shape} instead."
        )
    return mask


def transform_from_dict(data: dict[str, Any]) -> Transform:
    """Rebuild a transform (or a `Compose`) from `Transform.to_dict` output.

    A dict written by a different dermnet major version still loads, with a warning.

    Examples:
        >>> from dermnet.transforms import ShadesOfGray
        >>> transform_from_dict(ShadesOfGray(p=4).to_dict())
        ShadesOfGray(p=4.0)
    """
    if not isinstance(data, dict) or "name" not in data:
        raise ParameterError(
            "The 'data' parameter of transform_from_dict must be a dict with a 'name' key "
            f"(written by Transform.to_dict). Got {data!r} instead."
        )
    written = data.get("dermnet_version")
    if isinstance(written, str):
        from dermnet._version import __version__

        if written.split(".")[0] != __version__.split(".")[0]:
            warnings.warn(
                f"This transform dict was written by dermnet {written}; this is dermnet "
                f"{__version__}. It may not load or behave the same.",
                UserWarning,
                stacklevel=2,
            )
    cls = TRANSFORMS.get(data["name"], where="transform_from_dict")
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise ParameterError(
            "The 'config' entry of the dict passed to transform_from_dict must be a dict. "
            f"Got {config!r} instead."
        )
    return cls.from_config(dict(config))


@register_transform("compose")
class Compose(Transform):
    """Apply transforms in order; serializes with its children.

    Args:
        transforms: the transforms, applied first to last.

    Examples:
        >>> from dermnet.transforms import Resize, ShadesOfGray
        >>> pipeline = Compose([ShadesOfGray(), Resize(32)])
        >>> transform_from_dict(pipeline.to_dict()) == pipeline
        True
        >>> pipeline(np.zeros((2, 48, 64, 3), np.uint8)).shape
        (2, 32, 32, 3)
    """

    geometric = True  # conservatively: masks are passed through every child

    def __init__(self, transforms: Sequence[Transform]) -> None:
        if isinstance(transforms, (str, bytes, Transform)) or not isinstance(transforms, Sequence):
            raise ParameterError(
                "The 'transforms' parameter of Compose must be a list of dermnet Transform "
                f"objects. Got {transforms!r} instead."
            )
        transforms = list(transforms)
        bad = [t for t in transforms if not isinstance(t, Transform)]
        if bad:
            raise ParameterError(
                "The 'transforms' parameter of Compose must be a list of dermnet Transform "
                f"objects. Got {bad[0]!r} instead."
            )
        self.transforms = transforms

    @property
    def input_channels(self) -> tuple[int, ...]:  # type: ignore[override]
        """The channels the first transform accepts (any, for an empty Compose)."""
        return self.transforms[0].input_channels if self.transforms else (1, 2, 3, 4)

    def __call__(self, image: Any, mask: Any = None) -> Any:
        if not self.transforms:
            return image if mask is None else (image, mask)
        return super().__call__(image, mask)

    def apply(self, image: np.ndarray) -> np.ndarray:
        for transform in self.transforms:
            image = _checked(transform, image)
            image = transform.apply(image)
        return image

    def apply_with_mask(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        for transform in self.transforms:
            image = _checked(transform, image)
            image, mask = transform.apply_with_mask(image, mask)
        return image, mask

    def output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        shape = _hwc(input_shape)
        for transform in self.transforms:
            shape = transform.output_shape(shape)
        return shape

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Compose:
        unknown = sorted(set(config) - {"transforms"})
        if unknown:
            raise ParameterError(f"The config of Compose has unknown keys {unknown}.")
        return cls([transform_from_dict(t) for t in config.get("transforms", [])])

    def __len__(self) -> int:
        return len(self.transforms)

    def __getitem__(self, index: int) -> Transform:
        return self.transforms[index]

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


def _checked(transform: Transform, image: np.ndarray) -> np.ndarray:
    """Validate an intermediate image against the next transform of a pipeline."""
    return check_image(image, type(transform).__name__, channels=transform.input_channels)


_MOVED = {"ShadesOfGray": "shades_of_gray", "Resize": "resize"}


def __getattr__(name: str) -> Any:
    # ShadesOfGray and Resize lived here before the transforms moved to preprocessing.py;
    # they come from the registry, so this module does not import the one defining them.
    if name in _MOVED:
        warnings.warn(
            f"dermnet.transforms.base.{name} is deprecated; import it from "
            f"dermnet.transforms ({name} lives in dermnet.transforms.preprocessing).",
            DeprecationWarning,
            stacklevel=2,
        )
        return TRANSFORMS.get(_MOVED[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
