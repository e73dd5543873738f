"""Credential use cases: create, rename, test, rotate, delete (`manage`), their masked views
(`views`), and the checks that workflows only name their owner's credentials of the right
kinds (`references`)."""
