#!/usr/bin/env python3
"""Parse a key file from stdin with the real GLib (g_key_file, what DeepStream's nvinfer uses) via
ctypes, and print {group: {key: value}} as JSON. Exit 3 when GLib refuses the file."""
import ctypes, json, sys
from ctypes import POINTER, byref, c_char_p, c_int, c_size_t, c_void_p

g = ctypes.CDLL('libglib-2.0.so.0')
g.g_key_file_new.restype = c_void_p
g.g_key_file_load_from_data.argtypes = [c_void_p, c_char_p, c_size_t, c_int, POINTER(c_void_p)]
g.g_key_file_load_from_data.restype = c_int
g.g_key_file_get_groups.argtypes = [c_void_p, POINTER(c_size_t)]
g.g_key_file_get_groups.restype = POINTER(c_char_p)
g.g_key_file_get_keys.argtypes = [c_void_p, c_char_p, POINTER(c_size_t), POINTER(c_void_p)]
g.g_key_file_get_keys.restype = POINTER(c_char_p)
g.g_key_file_get_string.argtypes = [c_void_p, c_char_p, c_char_p, POINTER(c_void_p)]
g.g_key_file_get_string.restype = c_char_p

data = sys.stdin.buffer.read()
kf = g.g_key_file_new()
err = c_void_p()
if not g.g_key_file_load_from_data(kf, data, len(data), 0, byref(err)):
    sys.exit(3)
out = {}
n = c_size_t()
groups = g.g_key_file_get_groups(kf, byref(n))
for i in range(n.value):
    grp = groups[i]
    m = c_size_t()
    keys = g.g_key_file_get_keys(kf, grp, byref(m), byref(err))
    entries = {}
    for j in range(m.value):
        v = g.g_key_file_get_string(kf, grp, keys[j], byref(err))
        entries[keys[j].decode()] = None if v is None else v.decode('utf-8', 'replace')
    out[grp.decode()] = entries
print(json.dumps(out))
