"""The decision-making agent: indicators, the offline rules model, the LangGraph workflow."""
