package rest

// RequestHash is requestHash, for tests that play a request whose server
// died after its commit.
var RequestHash = requestHash
