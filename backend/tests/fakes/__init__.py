"""Loopback fakes of the services AlphaTransformer talks to, speaking their real wire formats.

Recorded payloads live in `payloads/`, named after what produced them; fakes and parser tests
load the same files.
"""
