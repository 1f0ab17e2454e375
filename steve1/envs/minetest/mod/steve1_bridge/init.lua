-- steve1_bridge: the world side of steve1's Minetest world.
-- Every 1/20 s of game time it writes <world>/steve1_state.json (position, look angles, health, inventory);
-- it polls <world>/steve1_cmd.json for commands from Python and acknowledges them by id in the state, and
-- <world>/steve1_look.json, the look (yaw, pitch) Python commands, every server step: the camera is set here
-- rather than by mouse motion, which a loaded machine loses.

local senses = dofile(minetest.get_modpath("steve1_bridge") .. "/senses.lua")

local senses = dofile(minetest.get_modpath("steve1_bridge") .. "/senses.lua")
local world = minetest.get_worldpath()
local STATE_PATH = world .. "/steve1_state.json"
local CMD_PATH = world .. "/steve1_cmd.json"
local LOOK_PATH = world .. "/steve1_look.json"
local PERIOD = 0.05  -- seconds of game time between reports (MineRL's 20 steps per second)

local elapsed = 0.0
local game_time = 0.0
local seq = 0
local last_cmd_id = 0
local last_cmd_text = ""
local last_look_text = ""
local look_seq = 0  -- seq of the last look command applied
-- After set_look the client takes a few frames to turn, and meanwhile its position packets still carry the
-- old look, which the server takes over: for LOOK_PENDING_S after a look command the state reports the
-- commanded look (what the view is turning to), after that what the client reports.
local LOOK_PENDING_S = 1.0
local PITCH_LIMIT = math.rad(89.5)  -- the client's camera stops there (MineRL's at 90)
local look_pending = nil  -- {yaw, pitch, until_game_time}
local arena_ready = 0  -- id of the last arena command whose blocks are placed
local spawn_pos = nil
local HOTBAR_SLOTS = 9  -- MineRL's hotbar (Minetest Game shows 8)

local function the_player()
	local players = minetest.get_connected_players()
	return players[1]
end

local function inventory_counts(player)
	local counts = {}
	local inv = player:get_inventory()
	for _, list in ipairs({"main", "craft"}) do
		for _, stack in ipairs(inv:get_list(list) or {}) do
			if not stack:is_empty() then
				local name = stack:get_name()
				counts[name] = (counts[name] or 0) + stack:get_count()
			end
		end
	end
	return counts
end

local function clear_inventory(player)
	local inv = player:get_inventory()
	for _, list in ipairs({"main", "craft", "craftpreview"}) do
		if inv:get_size(list) > 0 then
			inv:set_list(list, {})
		end
	end
end

local function place_player(player, pos, yaw, pitch)
	look_pending = {yaw = yaw, pitch = pitch, until_t = game_time + LOOK_PENDING_S}
	player:set_pos(pos)
	player:set_look_horizontal(yaw)
	player:set_look_vertical(pitch)
	player:set_velocity({x = 0, y = 0, z = 0})
end

-- A flat stone floor with air above, centred on `c` (the node the player's feet are in), and one dirt
-- block at eye level right in front of the player (+Z, yaw 0). Deterministic whatever the terrain.
local ARENA_RADIUS = 8
local ARENA_HEIGHT = 4

local function build_arena(c, id)
	local p1 = {x = c.x - ARENA_RADIUS, y = c.y - 1, z = c.z - ARENA_RADIUS}
	local p2 = {x = c.x + ARENA_RADIUS, y = c.y + ARENA_HEIGHT, z = c.z + ARENA_RADIUS}
	minetest.emerge_area(p1, p2, function(_, _, remaining)
		if remaining > 0 then
			return
		end
		local vm = minetest.get_voxel_manip()
		local e1, e2 = vm:read_from_map(p1, p2)
		local area = VoxelArea:new({MinEdge = e1, MaxEdge = e2})
		local data = vm:get_data()
		local stone = minetest.get_content_id("default:stone")
		local air = minetest.get_content_id("air")
		for z = p1.z, p2.z do
			for y = p1.y, p2.y do
				for x = p1.x, p2.x do
					data[area:index(x, y, z)] = (y == p1.y) and stone or air
				end
			end
		end
		data[area:index(c.x, c.y + 1, c.z + 1)] = minetest.get_content_id("default:dirt")
		vm:set_data(data)
		vm:write_to_map(true)
		vm:update_liquids()
		local player = the_player()
		if player then
			place_player(player, {x = c.x, y = c.y - 0.5, z = c.z}, 0, 0)
		end
		arena_ready = id
	end)
end

local function run_command(cmd)
	local player = the_player()
	if not player then
		return false
	end
	if cmd.op == "respawn" then
		clear_inventory(player)
		player:set_hp(player:get_properties().hp_max or 20)
		player:set_breath(player:get_properties().breath_max or 10)
		place_player(player, cmd.pos or spawn_pos or player:get_pos(), cmd.yaw or 0, cmd.pitch or 0)
		if cmd.time_of_day then
			minetest.set_timeofday(cmd.time_of_day)
		end
	elseif cmd.op == "arena" then
		local c = vector.round(cmd.pos or player:get_pos())
		clear_inventory(player)
		player:set_hp(player:get_properties().hp_max or 20)
		build_arena(c, cmd.id)
	elseif cmd.op == "give" then
		player:get_inventory():add_item("main", ItemStack({name = cmd.item, count = cmd.count or 1}))
	elseif cmd.op == "set_node" then
		-- cmd.offset {x, y, z} from the node the player's feet are in
		local c = vector.round(player:get_pos())
		local o = cmd.offset or {0, 0, 0}
		minetest.set_node({x = c.x + o[1], y = c.y + o[2], z = c.z + o[3]}, {name = cmd.node})
	elseif cmd.op == "set_look" then
		player:set_look_horizontal(cmd.yaw)
		player:set_look_vertical(cmd.pitch)
	else
		minetest.log("error", "[steve1_bridge] unknown command " .. tostring(cmd.op))
	end
	return true
end

local function poll_commands()
	local f = io.open(CMD_PATH, "r")
	if not f then
		return
	end
	local text = f:read("*a")
	f:close()
	if text == last_cmd_text or text == "" then
		return
	end
	local cmd = minetest.parse_json(text)
	if type(cmd) ~= "table" or type(cmd.id) ~= "number" or cmd.id <= last_cmd_id then
		return
	end
	if run_command(cmd) then
		last_cmd_id = cmd.id
		last_cmd_text = text
	end
end

-- {"seq": n, "yaw": radians, "pitch": radians}: applied once per new seq.
local function poll_look(player)
	local f = io.open(LOOK_PATH, "r")
	if not f then
		return
	end
	local text = f:read("*a")
	f:close()
	if text == last_look_text or text == "" then
		return
	end
	local look = minetest.parse_json(text)
	if type(look) ~= "table" or type(look.seq) ~= "number" or look.seq <= look_seq then
		return
	end
	last_look_text = text
	look_seq = look.seq
	player:set_look_horizontal(look.yaw)
	player:set_look_vertical(look.pitch)
	local pitch = math.max(-PITCH_LIMIT, math.min(PITCH_LIMIT, look.pitch))
	look_pending = {yaw = look.yaw, pitch = pitch, until_t = game_time + LOOK_PENDING_S}
end

local function node_is_water(pos)
	local node = minetest.get_node_or_nil(pos)
	return node ~= nil and minetest.get_item_group(node.name, "water") > 0
end

-- Head or feet in a water node (source or flowing).
local EYE_HEIGHT = 1.47
local function in_water(player)
	local pos = player:get_pos()
	local eye = player:get_properties().eye_height or EYE_HEIGHT
	return node_is_water({x = pos.x, y = pos.y + 0.1, z = pos.z})
		or node_is_water({x = pos.x, y = pos.y + eye, z = pos.z})
end

local function write_state()
	local player = the_player()
	local state = {seq = seq, t = game_time, ack = last_cmd_id, arena = arena_ready, look = look_seq,
		joined = false}
	if player then
		local pos = player:get_pos()
		state.joined = true
		state.pos = {pos.x, pos.y, pos.z}
		if look_pending and game_time >= look_pending.until_t then
			look_pending = nil
		end
		state.yaw = look_pending and look_pending.yaw or player:get_look_horizontal()
		state.pitch = look_pending and look_pending.pitch or player:get_look_vertical()
		state.look_pending = look_pending ~= nil
		state.hp = player:get_hp()
		state.breath = player:get_breath()
		state.inv = inventory_counts(player)
		state.inv["_"] = 0  -- keeps the table an object in JSON even when empty
		state.time_of_day = minetest.get_timeofday()
		state.in_water = in_water(player)
		state.senses = senses.collect(player)
		state.senses["_"] = 0  -- keeps the table an object in JSON even when empty
	end
	minetest.safe_file_write(STATE_PATH, minetest.write_json(state))
end

minetest.register_on_joinplayer(function(player)
	spawn_pos = spawn_pos or player:get_pos()
	player:set_look_horizontal(0)
	player:set_look_vertical(0)
	player:hud_set_flags({minimap = false, minimap_radar = false, basic_debug = false})
	player:hud_set_hotbar_itemcount(HOTBAR_SLOTS)
end)

-- The drop key drops one item, as in Minecraft (Minetest drops the whole stack unless sneaking).
local engine_item_drop = minetest.item_drop
minetest.item_drop = function(itemstack, dropper, pos)
	if itemstack:get_count() > 1 and dropper and dropper:is_player() then
		local one = itemstack:take_item(1)
		local left = engine_item_drop(one, dropper, pos)
		if left and not left:is_empty() then
			itemstack:add_item(left)
		end
		return itemstack
	end
	return engine_item_drop(itemstack, dropper, pos)
end

-- Minetest Game has no sprint: Aux1 (MineRL's `sprint` key) gives Minecraft's 1.3x sprint speed.
local SPRINT_SPEED = 1.3
local sprinting = false

local function update_sprint(player)
	local wants = player:get_player_control().aux1 and true or false
	if wants ~= sprinting then
		sprinting = wants
		player:set_physics_override({speed = wants and SPRINT_SPEED or 1.0})
	end
end

minetest.register_globalstep(function(dtime)
	game_time = game_time + dtime
	local player = the_player()
	if player then
		update_sprint(player)
		poll_look(player)
	end
	elapsed = elapsed + dtime
	poll_commands()
	if elapsed >= PERIOD then
		elapsed = elapsed - PERIOD * math.floor(elapsed / PERIOD)
		seq = seq + 1
		write_state()
	end
end)
