"""The chat.z.ai dialect: everything that changes when the upstream changes lives here."""
