from ztoapi.zai.signing import DEFAULT_SECRET
from ztoapi.zai.signing import secret_bytes
from ztoapi.zai.signing import sign

REQUEST_ID = "11111111-2222-3333-4444-555555555555"
USER_ID = "316bcb48-ff2f-4a15-853d-f2a29b67ff0f"


def test_current_secret_vector():
    signature = sign("Hello, 世界", REQUEST_ID, 1760000000000, USER_ID)
    assert signature == "03199b8ca007f27213062e9fe436153a8165b01d725cc7c63d16e5c4992ba813"


def test_junjie_secret_vector():
    signature = sign("Hello, 世界", REQUEST_ID, 1760000000000, USER_ID, secret_bytes("junjie"))
    assert signature == "6dfb3f662e27b042a2fd13b1d0a46a849e98f82c97558246d8a8202a8cea266f"


def test_hex_override_is_decoded():
    hex_secret = "6b65792d40404040292929282928283929292d787878782626262525252525"
    assert secret_bytes(hex_secret) == DEFAULT_SECRET.encode()


def test_empty_override_means_built_in_secret():
    assert secret_bytes("") == DEFAULT_SECRET.encode()


def test_signature_changes_with_the_five_minute_window():
    first = sign("hi", REQUEST_ID, 1760000000000, USER_ID)
    later = sign("hi", REQUEST_ID, 1760000000000 + 300000, USER_ID)
    assert first != later
