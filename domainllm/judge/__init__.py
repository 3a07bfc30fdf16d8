"""LLM-as-a-judge: rubric prompts, backends (openai, local), deterministic checks, cache, stats."""
