"""AI prompts: natural language to SQL, descriptions and new schemas, through the operator's language model."""
