#!/usr/bin/python3
"""Computes, independently of tzwm's C code (Python's hashlib and a ten-line base58), the Tezos keys
and addresses that test_keys.c hard-codes. Run it to check them: python3 independent_keys.py"""
import hashlib

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58(data):
    number, text = int.from_bytes(data, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = ALPHABET[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def base58check(prefix_hex, payload):
    raw = bytes.fromhex(prefix_hex) + payload
    return base58(raw + hashlib.sha256(hashlib.sha256(raw).digest()).digest()[:4])


KEYS = [
    # RFC 8032 §7.1 TEST 1 public key
    ("Ed25519", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
     "0d0f25d9", "06a19f"),
    # secp256k1 generator G (private key 1), compressed
    ("secp256k1", "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
     "03fee256", "06a1a1"),
    # P-256 generator G (private key 1), compressed: its Y ends in f5, odd, hence 03
    ("P-256", "036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
     "03b28b7f", "06a1a4"),
]

for name, key_hex, key_prefix, address_prefix in KEYS:
    key = bytes.fromhex(key_hex)
    print(name, base58check(key_prefix, key),
          base58check(address_prefix, hashlib.blake2b(key, digest_size=20).digest()))
# A well-formed base58check text whose prefix is no Tezos prefix.
print("unknown prefix", base58check("000000", bytes(4)))
