-- steve1_bridge senses: facts about the player's surroundings for labels and scripted agents.
-- collect(player) returns a table of plain values that the bridge writes into its state as `senses`.
-- This minimal version reports nothing; a fuller one replaces this file.
return {
	collect = function(player)
		return {}
	end,
}
