"""Policy files: what a team accepts. ``model`` holds the merged ``Policy``; ``load`` finds,
reads and merges files (``load_policy``); ``parse`` validates one file; ``show`` renders the
effective policy; ``schema`` generates the JSON schema for editors.
"""
