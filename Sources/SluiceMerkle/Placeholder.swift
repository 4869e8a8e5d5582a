// The sparse Merkle tree; see SparseMerkleTree.swift.
