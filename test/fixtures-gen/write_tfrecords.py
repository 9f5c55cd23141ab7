#!/usr/bin/env python3
"""Independent TFRecord + tf.train.Example writer (stdlib only) for cross-checking our reader.

It shares no code with the TypeScript writer: framing with struct, CRC32C from a pure-Python
table, and protobuf wire encoding by hand. Records carry the keys TAO's `mask_rcnn
dataset_convert` writes (nvidia_tao_tf1/cv/mask_rcnn/scripts/dataset_convert.py).

usage: write_tfrecords.py OUT_DIR IMAGE [IMAGE ...]
Writes OUT_DIR/tao-00000-of-00002.tfrecord, tao-00001-of-00002.tfrecord, tao-gzip.tfrecord.gz,
tao-zlib.tfrecord.zz and OUT_DIR/manifest.json describing every value written.
"""
import gzip
import hashlib
import json
import os
import struct
import sys
import zlib

# ---- CRC32C (Castagnoli, reflected polynomial 0x82F63B78) ----
_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(record: bytes) -> bytes:
    header = struct.pack('<Q', len(record))
    return header + struct.pack('<I', masked_crc(header)) + record + struct.pack('<I', masked_crc(record))


# ---- protobuf wire format ----
def varint(v: int) -> bytes:
    v &= (1 << 64) - 1  # negative int64 -> two's complement, 10 bytes
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def ld(field: int, payload: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def bytes_feature(values, packed=True):
    return ld(1, b''.join(ld(1, v) for v in values))


def float_feature(values, packed=True):
    if packed:
        body = ld(1, b''.join(struct.pack('<f', v) for v in values)) if values else b''
    else:
        body = b''.join(varint(1 << 3 | 5) + struct.pack('<f', v) for v in values)
    return ld(2, body)


def int64_feature(values, packed=True):
    if packed:
        body = ld(1, b''.join(varint(v) for v in values)) if values else b''
    else:
        body = b''.join(varint(1 << 3 | 0) + varint(v) for v in values)
    return ld(3, body)


def example(features, extra=b''):
    """features: list of (key, kind, values, packed)."""
    enc = {'bytes': bytes_feature, 'float': float_feature, 'int64': int64_feature}
    entries = b''.join(ld(1, ld(1, k.encode()) + ld(2, enc[kind](vals, packed))) for k, kind, vals, packed in features)
    return ld(1, entries) + extra


# ---- image size from the file header (no decoder in the stdlib) ----
def image_size(data: bytes):
    if data[:8] == b'\x89PNG\r\n\x1a\n':
        w, h = struct.unpack('>II', data[16:24])
        return h, w
    if data[:2] == b'\xff\xd8':
        i = 2
        while i < len(data):
            while data[i] == 0xFF:
                i += 1
            marker = data[i]
            i += 1
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                continue
            seg_len = struct.unpack('>H', data[i:i + 2])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack('>HH', data[i + 3:i + 7])
                return h, w
            i += seg_len
    raise ValueError('not a JPEG or PNG')


def f32(v):
    return struct.unpack('<f', struct.pack('<f', v))[0]


def describe(features):
    out = {}
    for key, kind, vals, _packed in features:
        if kind == 'bytes':
            out[key] = {'kind': 'bytes', 'hex': [v.hex() if len(v) <= 64 else None for v in vals],
                        'sha256': [hashlib.sha256(v).hexdigest() for v in vals], 'len': [len(v) for v in vals]}
        elif kind == 'float':
            out[key] = {'kind': 'float', 'value': [f32(v) for v in vals]}
        else:
            out[key] = {'kind': 'int64', 'value': [str(v) for v in vals]}
    return out


def tao_features(path, image_id, boxes, labels):
    data = open(path, 'rb').read()
    h, w = image_size(data)
    names = {1: b'person', 3: b'car', 90: b'toothbrush'}
    return [
        ('image/height', 'int64', [h], True),
        ('image/width', 'int64', [w], True),
        ('image/filename', 'bytes', [os.path.basename(path).encode()], True),
        ('image/source_id', 'bytes', [str(image_id).encode()], True),
        ('image/key/sha256', 'bytes', [hashlib.sha256(data).hexdigest().encode()], True),
        ('image/encoded', 'bytes', [data], True),
        ('image/format', 'bytes', [b'jpeg'], True),
        ('image/object/bbox/xmin', 'float', [b[0] for b in boxes], True),
        ('image/object/bbox/xmax', 'float', [b[2] for b in boxes], True),
        ('image/object/bbox/ymin', 'float', [b[1] for b in boxes], True),
        ('image/object/bbox/ymax', 'float', [b[3] for b in boxes], True),
        ('image/object/class/text', 'bytes', [names.get(l, b'thing') for l in labels], True),
        ('image/object/class/label', 'int64', labels, True),
        ('image/object/is_crowd', 'int64', [0] * len(labels), True),
        ('image/object/area', 'float', [1234.5 * (i + 1) for i in range(len(labels))], True),
        ('image/object/mask', 'bytes', [bytes([0x89, 0x50, 0x4E, 0x47, i]) for i in range(len(labels))], True),
    ]


def main():
    out_dir, images = sys.argv[1], sys.argv[2:]
    if not images:
        sys.exit(__doc__)
    os.makedirs(out_dir, exist_ok=True)
    records0 = []  # (features, extra bytes)
    for n, img in enumerate(images):
        records0.append((tao_features(img, 1000 + n, [(0.1, 0.2, 0.5, 0.6), (0.25, 0.125, 1.0, 0.75)], [1, 90]), b''))
    # Unpacked float and int64 lists, negative and 64-bit int64 values, an unknown trailing field.
    records0.append(([
        ('image/encoded', 'bytes', [open(images[0], 'rb').read()], True),
        ('unpacked/float', 'float', [0.1, -2.5, 3.4028234663852886e38, 1e-45], False),
        ('unpacked/int64', 'int64', [-1, 0, 2 ** 63 - 1, -(2 ** 63), 300], False),
        ('packed/int64', 'int64', [-7, 2 ** 40, 127, 128], True),
        ('empty/float', 'float', [], True),
        ('empty/bytes', 'bytes', [], True),
    ], varint(15 << 3 | 0) + varint(42)))
    records0.append(([], b''))  # Example with empty Features
    records1 = [(tao_features(images[i % len(images)], 2000 + i, [(0.0, 0.0, 1.0, 1.0)], [3]), b'') for i in range(3)]

    manifest = {}

    def write(name, records, wrap=lambda b: b):
        blob = b''.join(frame(example(f, extra)) for f, extra in records)
        with open(os.path.join(out_dir, name), 'wb') as fh:
            fh.write(wrap(blob))
        manifest[name] = [describe(f) for f, _ in records]

    write('tao-00000-of-00002.tfrecord', records0)
    write('tao-00001-of-00002.tfrecord', records1)
    write('tao-gzip.tfrecord.gz', records1, lambda b: gzip.compress(b, mtime=0))
    write('tao-zlib.tfrecord.zz', records1, zlib.compress)
    with open(os.path.join(out_dir, 'manifest.json'), 'w') as fh:
        json.dump(manifest, fh, indent=1)


if __name__ == '__main__':
    main()
